# expect: CWE-502 safe
import yaml
import flask

app = flask.Flask(__name__)


@app.route("/rules", methods=["POST"])
def rules():
    spec = yaml.safe_load(flask.request.get_data())
    return {"n": len(spec)}
