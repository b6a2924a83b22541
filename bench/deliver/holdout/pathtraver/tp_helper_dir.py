# expect: CWE-22 vulnerable
import os
import flask

app = flask.Flask(__name__)


def resolve(name: str) -> str:
    return os.path.join("/srv/data", name)


@app.route("/delete", methods=["POST"])
def delete():
    os.unlink(resolve(flask.request.form["name"]))
    return "deleted"
