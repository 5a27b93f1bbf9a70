"""The shopbot server: one FastAPI app serving the demo page, the widget, the chat protocol, REST and metrics.

`create_app` keeps all state in objects it creates (`app.state.ctx`), so tests can run several apps
in one process. `uvicorn_config` is the one place the transport limits (frame size, pings) and the trusted
proxies are set. Every REST error, the request body cap's and FastAPI's validation errors included, has the
documented shape `{"error": {"code", "message", "retryable"}}`.
"""

from __future__ import annotations

import asyncio
import hmac
import html
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bot.runtime import Runtime
from bot.settings import Settings
from server import openai_api, rest, ws
from server.bodies import BodyLimit, BodyTooLarge, describe_invalid, too_large_message
from server.context import ServerContext
from server.protocol import ErrorCode

STATIC = Path(__file__).parent / "static"
ENDPOINT_PLACEHOLDER = "__SHOPBOT_ENDPOINT__"
TOKEN_PLACEHOLDER = "__SHOPBOT_TOKEN__"


def create_app(runtime: Runtime) -> FastAPI:
    ctx = ServerContext.build(runtime)  # refuses an insecure secret before anything listens
    runtime.generation_observers.append(ctx.metrics.generation_ended)
    ctx.metrics.watch_engine_retries(runtime.backend.name, runtime.generator_status)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        asyncio.get_running_loop().set_default_executor(ctx.io_executor)
        warm = asyncio.create_task(ctx.warm_up())
        try:
            yield
        finally:
            warm.cancel()
            await ctx.aclose()

    app = FastAPI(title="shopbot", version="1", lifespan=lifespan)
    app.state.ctx = ctx
    app.include_router(rest.router)
    app.include_router(openai_api.router)
    app.add_api_websocket_route("/v1/chat", ws.chat_socket)

    @app.exception_handler(rest.ApiError)
    async def api_error(_: Request, exc: rest.ApiError):
        return rest.error_response(ctx, exc)

    def body_too_large() -> Response:
        limit = ctx.settings.max_request_body_bytes
        return rest.error_response(ctx, rest.ApiError(ErrorCode.message_too_long, too_large_message(limit)))

    app.add_middleware(BodyLimit, max_bytes=ctx.settings.max_request_body_bytes, refuse=body_too_large)

    @app.exception_handler(BodyTooLarge)
    async def body_over_the_limit(_: Request, __: BodyTooLarge):
        return body_too_large()

    openai_paths = {getattr(route, "path", None) for route in openai_api.router.routes}

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        """`422 bad_frame` naming the wrong fields; 400 on the OpenAI routes, which answer invalid requests so."""
        route = getattr(request.scope.get("route"), "path", None)
        status = openai_api.BAD_REQUEST if route in openai_paths else None
        error = rest.ApiError(ErrorCode.bad_frame, describe_invalid(exc.errors()), status=status)
        return rest.error_response(ctx, error)

    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request, customer: str | None = None):
        token = ""
        if customer is not None:
            if not ctx.settings.demo_mode:
                return JSONResponse(
                    {"error": {"code": "forbidden", "message": "?customer= works only in demo mode"}}, 403
                )
            await ctx.ready.wait()
            if await asyncio.to_thread(runtime.store.customer, customer) is None:
                return JSONResponse({"error": {"code": "not_found", "message": f"no demo customer {customer!r}"}}, 404)
            token = ctx.tokens.mint(customer)
        scheme = "wss" if request.url.scheme == "https" else "ws"
        endpoint = f"{scheme}://{request.headers.get('host', request.url.netloc)}/v1/chat"
        page = (STATIC / "index.html").read_text(encoding="utf-8")
        page = page.replace(ENDPOINT_PLACEHOLDER, html.escape(endpoint, quote=True))
        return page.replace(TOKEN_PLACEHOLDER, html.escape(token, quote=True))

    @app.get("/widget.js")
    async def widget():
        return Response((STATIC / "widget.js").read_bytes(), media_type="text/javascript; charset=utf-8")

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz():
        """Ready once the indexes are open and the model loaded; with an engine elsewhere (the remote backend),
        also only while that engine answers (`engine`, and `engine_error` saying why not)."""
        ready = ctx.index_ready and ctx.model_ready
        body = {"status": "ready" if ready else "starting", "model": ctx.model_ready, "index": ctx.index_ready}
        health = await asyncio.to_thread(runtime.engine_health) if ready else None
        if health is not None:
            body["engine"] = health["ok"]
            if not health["ok"]:
                ready = False
                body.update(status="engine_unavailable", engine_error=health["error"])
        if ctx.startup_error:
            body.update(status="failed", error=ctx.startup_error)
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics")
    async def metrics(authorization: str | None = Header(None, include_in_schema=False)):
        expected = ctx.settings.metrics_token
        if expected:
            scheme, _, given = (authorization or "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
                refused = rest.error_response(
                    ctx,
                    rest.ApiError(
                        ErrorCode.unauthorized, "/metrics needs Authorization: Bearer <SHOPBOT_METRICS_TOKEN>"
                    ),
                )
                refused.headers["WWW-Authenticate"] = "Bearer"
                return refused
        return Response(ctx.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app


def uvicorn_config(
    app: FastAPI, settings: Settings, host: str = "127.0.0.1", port: int = 8000, **extra
) -> uvicorn.Config:
    """The server's transport settings.

    X-Forwarded-For is believed only from `trusted_proxies`: uvicorn's own default trusts it from 127.0.0.1, so
    any local client (or a proxy on the same host that passes the header through) could pick its own address,
    and with it its own rate-limit bucket.
    """
    options = dict(
        host=host,
        port=port,
        ws_max_size=settings.max_frame_bytes,
        ws_ping_interval=settings.ping_interval_s,
        ws_ping_timeout=settings.ping_interval_s,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
    )
    return uvicorn.Config(app, **{**options, **extra})


def serve(settings: Settings, host: str, port: int) -> None:
    runtime = Runtime(settings, progress=True)
    app = create_app(runtime)  # refuses an insecure secret before the model's config is read
    _ = runtime.store  # migrated before anything listens; a missing driver or a wrong URL ends the command here
    runtime.prepare_thread()  # this thread runs the event loop beside the backend
    uvicorn.Server(uvicorn_config(app, settings, host, port)).run()
