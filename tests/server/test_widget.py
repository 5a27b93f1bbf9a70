"""The chat widget in a real browser: headless Chromium (Debian's package) driven by Playwright, against the
real server over the demo shop with the real model.

The widget is what shoppers see, so these tests look through its eyes: text that streams in several steps,
reorder cards a signed-in customer can add to the shop's cart, history after a reload or a dropped
connection, kind error messages, and model output that never becomes HTML.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's Chromium at /usr/bin/chromium: apt-get install -y chromium chromium-driver "
    "(.ci/run does this); never `playwright install`",
)

LAST_ANSWER = "() => { const a = [...document.querySelector('shopbot-widget').shadowRoot.querySelectorAll('.msg.bot')]; return a.length ? a[a.length - 1] : null; }"

# Samples the newest answer's text length every 25 ms in the page itself, so Python's polling speed cannot
# hide (or fake) the steps the text arrived in; stops once the widget has marked the answer done (`end`).
SAMPLE_ANSWER = """() => {
  const root = document.querySelector('shopbot-widget').shadowRoot;
  const before = root.querySelectorAll('.msg.bot').length;
  window.__samples = [];
  window.__sampling = setInterval(() => {
    const answers = root.querySelectorAll('.msg.bot');
    if (answers.length <= before) return;
    const answer = answers[answers.length - 1];
    const done = answer.dataset.done === 'true';
    window.__samples.push({len: answer.querySelector('.body').textContent.length, done: done});
    if (done) clearInterval(window.__sampling);
  }, 25);
}"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def base_url(live_server) -> str:
    return live_server.url.rstrip("/")


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def frames_of(page) -> list[dict]:
    """Every protocol event the page's WebSocket receives, in order."""
    events: list[dict] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: events.append(json.loads(payload))))
    return events


def open_widget(page):
    page.get_by_role("button", name=re.compile("^Open chat")).click()
    box = page.get_by_role("textbox", name="Your message")
    page.wait_for_function(
        "() => /^Online/.test(document.querySelector('shopbot-widget').shadowRoot.querySelector('.status').textContent)"
    )
    return box


def ask(page, text: str):
    page.get_by_role("textbox", name="Your message").fill(text)
    page.keyboard.press("Enter")


def wait_for_answer(page, timeout_ms: int = 120_000):
    page.wait_for_function(
        f"() => {{ const a = ({LAST_ANSWER})(); return a && a.dataset.done === 'true'; }}", timeout=timeout_ms
    )
    return page.locator(".msg.bot").last


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    return path


def without_markup(text: str) -> str:
    """The words of a text, without the Markdown the widget turns into elements (list markers, ** and `)."""
    text = re.sub(r"(?m)^\s*(?:[-*•]|\d+[.)])\s+", "", text)
    return re.sub(r"[\W_]+", "", text)


def test_anonymous_visitor_sees_the_answer_stream_in_and_complete(page, base_url):
    events = frames_of(page)
    page.goto(base_url + "/")
    assert page.locator("#cart-count").text_content() == "0"
    open_widget(page)
    assert page.locator(".status").text_content() == "Online"
    page.evaluate(SAMPLE_ANSWER)
    ask(page, "Do you sell oat milk?")
    answer = wait_for_answer(page)

    samples = page.evaluate("window.__samples")
    before_end = [s["len"] for s in samples if not s["done"]]
    growth = sum(1 for a, b in zip(before_end, before_end[1:]) if b > a)
    assert growth >= 2, f"text should arrive in several steps before `end`, sampled lengths: {before_end}"

    deltas = [e for e in events if e["type"] == "delta"]
    end = next(e for e in events if e["type"] == "end")
    assert len(deltas) >= 3 and all(d["message_id"] == end["message_id"] for d in deltas)
    assert end["finish_reason"] in {"stop", "length"}
    shown = answer.locator(".body").text_content()
    assert without_markup(shown) == without_markup("".join(d["text"] for d in deltas)) != ""
    assert answer.get_attribute("data-message-id") == str(end["message_id"])
    assert page.get_by_role("button", name="Send message").is_enabled()
    assert not page.get_by_role("button", name="Stop the answer").is_visible()

    answer.get_by_role("button", name="Helpful", exact=True).click()
    page.wait_for_function(
        "() => [...document.querySelector('shopbot-widget').shadowRoot.querySelectorAll('.thanks')].some(t => t.textContent)"
    )
    assert any(
        e["type"] == "feedback_ok" and e["message_id"] == end["message_id"] and e["rating"] == "up" for e in events
    )
    shot(page, "widget-desktop-anonymous.png")

    # The page's heavy-handed CSS (uppercase, serif buttons) stops at the Shadow DOM.
    send_style = page.get_by_role("button", name="Send message").evaluate(
        "b => [getComputedStyle(b).textTransform, getComputedStyle(b).fontFamily]"
    )
    assert send_style[0] == "none" and "Georgia" not in send_style[1]

    # A reload restores the conversation from the server's history (the panel stays open).
    question_and_answer = page.locator(".msg").all_text_contents()
    page.reload()
    page.wait_for_function(
        "() => document.querySelector('shopbot-widget').shadowRoot.querySelectorAll('.msg').length >= 2"
    )
    restored = page.locator(".msg").all_text_contents()
    assert without_markup(restored[0]) == without_markup(question_and_answer[0])
    assert without_markup(restored[1]).startswith(without_markup(shown))


def test_signed_in_customer_gets_reorder_cards_and_adds_one_to_the_cart(page, base_url):
    events = frames_of(page)
    page.goto(base_url + "/?customer=C0001")
    page.evaluate(
        "window.__added = []; document.addEventListener('shopbot:add-to-cart', e => window.__added.push(e.detail))"
    )
    open_widget(page)
    ready = next(e for e in events if e["type"] == "ready")
    assert ready["customer"]["id"] == "C0001"
    assert page.locator(".status").text_content() == f"Online · signed in as {ready['customer']['name']}"

    ask(page, "what should I reorder?")
    answer = wait_for_answer(page)
    tool = next(e for e in events if e["type"] == "tool" and e["name"] == "suggest_reorder")
    assert tool["items"], "C0001 has order history, so the recommender must suggest something"
    cards = answer.locator(".card")
    assert cards.count() == len(tool["items"])
    for card, item in zip(cards.all(), tool["items"]):
        assert card.get_attribute("data-product-id") == item["id"]
        assert card.locator(".name").text_content() == item["name"]
        assert card.locator(".reason").text_content() == item["reason"]
    shot(page, "widget-desktop-reorder.png")

    first = next(i for i, item in enumerate(tool["items"]) if item["in_stock"])
    item = tool["items"][first]
    cards.nth(first).get_by_role("button", name=f"Add {item['name']} to cart").click()
    page.wait_for_function("() => document.getElementById('cart-count').textContent === '1'")
    added = page.evaluate("window.__added")
    assert [a["id"] for a in added] == [item["id"]] and added[0]["price"] == item["price"]
    shot(page, "widget-desktop-added-to-cart.png")


def test_mobile_layout_kind_errors_and_reconnect(browser, base_url):
    """Full-screen panel on a phone; a too-long message is refused kindly; a dropped socket comes back with history."""
    context = browser.new_context(viewport={"width": 390, "height": 760}, is_mobile=True, has_touch=True)
    page = context.new_page()
    routes = []

    def through_to_server(route):
        routes.append(route)
        route.connect_to_server()

    page.route_web_socket(re.compile(r"/v1/chat$"), through_to_server)
    page.goto(base_url + "/")
    page.get_by_role("button", name=re.compile("^Open chat")).tap()
    page.wait_for_function(
        "() => /^Online/.test(document.querySelector('shopbot-widget').shadowRoot.querySelector('.status').textContent)"
    )
    panel = page.get_by_role("dialog").bounding_box()
    assert panel == {"x": 0, "y": 0, "width": 390, "height": 760}

    too_long = "is the oat milk vegan? " * 100
    page.get_by_role("textbox", name="Your message").fill(too_long)
    page.get_by_role("button", name="Send message").tap()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "too long" in alert.text_content() and "SHOPBOT_" not in alert.text_content()
    assert page.get_by_role("textbox", name="Your message").input_value() == too_long.strip()
    shot(page, "widget-mobile-error.png")

    conversation = page.evaluate("Object.entries(sessionStorage).find(([k]) => k.endsWith(':conversation'))[1]")
    routes[-1].close(code=1011, reason="test drops the connection")
    page.wait_for_function(
        "() => /^Offline/.test(document.querySelector('shopbot-widget').shadowRoot.querySelector('.status').textContent)"
    )
    page.wait_for_function(
        "() => /^Online/.test(document.querySelector('shopbot-widget').shadowRoot.querySelector('.status').textContent)",
        timeout=15_000,
    )
    assert len(routes) == 2
    assert page.evaluate("Object.entries(sessionStorage).find(([k]) => k.endsWith(':conversation'))[1]") == conversation
    page.keyboard.press("Escape")
    assert not page.get_by_role("dialog").is_visible()
    assert page.evaluate("document.activeElement.localName") == "shopbot-widget"
    launcher = page.get_by_role("button", name=re.compile("^Open chat"))
    assert launcher.is_visible() and launcher.get_attribute("aria-expanded") == "false"
    shot(page, "widget-mobile-closed.png")
    context.close()


def test_markup_in_model_output_is_shown_as_text_and_stop_ends_the_answer(page, base_url):
    """Whatever the model writes (here: markup spliced into the real server's stream) is text, never HTML;
    the Stop button cancels the answer mid-stream."""
    hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    events: list[dict] = []  # a routed socket is invisible to page.on("websocket"): record what passes through

    def splice(route):
        server = route.connect_to_server()

        def to_page(message):
            event = json.loads(message)
            if event["type"] == "delta" and event["seq"] == 0:
                event["text"] = hostile + " **bold** " + event["text"]
            events.append(event)
            route.send(json.dumps(event))

        server.on_message(to_page)

    page.route_web_socket(re.compile(r"/v1/chat$"), splice)
    page.goto(base_url + "/")
    open_widget(page)
    ask(page, "Do you sell oat milk?")
    assert page.locator(".typing").is_visible()
    stop = page.get_by_role("button", name="Stop the answer")
    page.wait_for_function(f"() => {{ const a = ({LAST_ANSWER})(); return a && Number(a.dataset.deltas) >= 1; }}")
    stop.click()
    answer = wait_for_answer(page)
    end = next(e for e in events if e["type"] == "end")
    assert end["finish_reason"] == "cancelled" and answer.get_attribute("data-finish-reason") == "cancelled"
    assert answer.locator(".note").text_content() == "Stopped before the end."
    assert not stop.is_visible() and not page.locator(".typing").is_visible()
    assert hostile in answer.locator(".body").text_content()
    assert answer.locator("img, script").count() == 0
    assert answer.locator("strong").first.text_content() == "bold"
    assert page.evaluate("window.__pwned") is None
