"""The HTTP service: FastAPI routers on Ray Serve, security, jobs, and the Python client."""
