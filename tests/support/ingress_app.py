"""An ingress-like process for the multi-node store test: the real service (`ApiState` +
`create_api`, the routes and `persist_run` the Serve ingress uses) over a scripted model pool,
served by uvicorn on 127.0.0.1, keeping runs and jobs in the store at STORE_URL.

Usage: python ingress_app.py STORE_URL PORT REPLICA_NAME
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvicorn  # noqa: E402
from evalkit import FakePool  # noqa: E402

from crisis_mas.service.api import create_api  # noqa: E402
from crisis_mas.service.config import ServeAppConfig  # noqa: E402
from crisis_mas.service.state import ApiState  # noqa: E402


def main(url: str, port: int, replica: str) -> None:
    settings = ServeAppConfig.model_validate(
        {
            "crisis_mas": {
                "model": {"use_adapters": False},
                "rag": {"enabled": False},
                "ops": {"cache": {"enabled": False}},
                "store": {"url": url},
            }
        }
    )
    state = ApiState(settings, FakePool(0), replica, None)
    uvicorn.run(create_api(state), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
