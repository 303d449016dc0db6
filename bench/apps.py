"""WSGI apps the HTTP benchmark serves under gunicorn."""

from flask import Flask, Response, request


def noop() -> Flask:
    """The baseline: a Flask endpoint that reads the body and answers 200, nothing else."""
    app = Flask(__name__)

    @app.post("/v1/<kind>")
    def accept(kind: str) -> Response:
        request.get_data()
        return Response('{"success": true}', mimetype="application/json")

    return app


def collector() -> Flask:
    from collector.app import create_app

    return create_app()
