"""The FastAPI app, the WebSocket protocol and the widget assets."""
