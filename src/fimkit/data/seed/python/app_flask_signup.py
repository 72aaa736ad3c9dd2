"""Flask signup endpoint that validates JSON input by hand."""
import re
from http import HTTPStatus

from flask import Flask, jsonify, request
from werkzeug.security import generate_password_hash

app = Flask(__name__)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
USERS: dict[str, dict] = {}


def validate_signup(data: object) -> dict[str, str]:
    """Return a mapping of field -> error message; empty means valid."""
    if not isinstance(data, dict):
        return {"_": "expected a JSON object"}
    errors: dict[str, str] = {}
    email = data.get("email")
    if not isinstance(email, str) or not EMAIL_RE.match(email):
        errors["email"] = "must be a valid email address"
    password = data.get("password")
    if not isinstance(password, str) or len(password) < 10:
        errors["password"] = "must be at least 10 characters"
    name = data.get("display_name", "")
    if not isinstance(name, str) or len(name) > 50:
        errors["display_name"] = "must be a string of at most 50 characters"
    return errors


@app.post("/api/signup")
def signup():
    # silent=True gives None for bad JSON instead of an HTML 400 page,
    # so clients always receive a JSON error body.
    data = request.get_json(silent=True)
    errors = validate_signup(data)
    if errors:
        return jsonify(errors=errors), HTTPStatus.UNPROCESSABLE_ENTITY

    email = data["email"].strip().lower()
    if email in USERS:
        return jsonify(errors={"email": "already registered"}), HTTPStatus.CONFLICT

    USERS[email] = {
        "email": email,
        "display_name": data.get("display_name") or email.split("@")[0],
        # Never store the raw password.
        "password_hash": generate_password_hash(data["password"]),
    }
    public = {k: v for k, v in USERS[email].items() if k != "password_hash"}
    return jsonify(public), HTTPStatus.CREATED


@app.errorhandler(HTTPStatus.METHOD_NOT_ALLOWED)
def method_not_allowed(_err):
    return jsonify(error="method not allowed"), HTTPStatus.METHOD_NOT_ALLOWED
