# expect: CWE-78 safe
import subprocess
import flask

app = flask.Flask(__name__)


@app.route("/dns")
def dns():
    name = flask.request.values.get("name", "")
    proc = subprocess.Popen(["nslookup", "--", name], stdout=subprocess.PIPE)
    return proc.communicate()[0]
