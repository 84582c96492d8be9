"""The gateway: FastAPI over one node (`app.py`), errors as RFC 9457 problems (`problems.py`),
response schemas (`schemas.py`), Prometheus `/metrics`, and the server that shares the node's
event loop (`server.py`)."""
