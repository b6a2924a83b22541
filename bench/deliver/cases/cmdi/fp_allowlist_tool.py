# expect: CWE-78 safe
import subprocess
import flask

app = flask.Flask(__name__)
TOOLS = {"dig": ["dig", "+short"], "host": ["host"]}


@app.route("/lookup")
def lookup():
    tool = TOOLS.get(flask.request.args.get("tool", "dig"), ["dig", "+short"])
    return subprocess.run([*tool, "example.com"], capture_output=True, text=True, check=False).stdout
