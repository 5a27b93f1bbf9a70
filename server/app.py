"""The shopbot server: one FastAPI app serving the demo page, the widget, the chat protocol, REST and metrics.

`create_app` keeps all state in objects it creates (`app.state.ctx`), so tests can run several apps
in one process. `uvicorn_config` is the one place the transport limits (frame size, pings) are set.
"""

from __future__ import annotations

import asyncio
import html
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bot.runtime import Runtime
from bot.settings import Settings
from server import rest, ws
from server.context import ServerContext

STATIC = Path(__file__).parent / "static"
ENDPOINT_PLACEHOLDER = "__SHOPBOT_ENDPOINT__"
TOKEN_PLACEHOLDER = "__SHOPBOT_TOKEN__"


def create_app(runtime: Runtime) -> FastAPI:
    ctx = ServerContext.build(runtime)  # refuses an insecure secret before anything listens

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
    app.add_api_websocket_route("/v1/chat", ws.chat_socket)

    @app.exception_handler(rest.ApiError)
    async def api_error(_: Request, exc: rest.ApiError):
        return rest.error_response(ctx, exc)

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
        ready = ctx.index_ready and ctx.model_ready
        body = {"status": "ready" if ready else "starting", "model": ctx.model_ready, "index": ctx.index_ready}
        if ctx.startup_error:
            body.update(status="failed", error=ctx.startup_error)
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics")
    async def metrics():
        return Response(ctx.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app


def uvicorn_config(
    app: FastAPI, settings: Settings, host: str = "127.0.0.1", port: int = 8000, **extra
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        ws_max_size=settings.max_frame_bytes,
        ws_ping_interval=settings.ping_interval_s,
        ws_ping_timeout=settings.ping_interval_s,
        **extra,
    )


def serve(settings: Settings, host: str, port: int) -> None:
    runtime = Runtime(settings, progress=True)
    app = create_app(runtime)  # refuses an insecure secret before the model's config is read
    runtime.prepare_thread()  # this thread runs the event loop beside the backend
    uvicorn.Server(uvicorn_config(app, settings, host, port)).run()
