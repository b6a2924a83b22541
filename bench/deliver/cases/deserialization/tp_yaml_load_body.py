# expect: CWE-502 vulnerable
import yaml
import flask

app = flask.Flask(__name__)


@app.route("/rules", methods=["POST"])
def rules():
    spec = yaml.load(flask.request.get_data(), Loader=yaml.Loader)
    return {"n": len(spec)}
