# expect: CWE-79 vulnerable
import jinja2
from flask import Flask, request

app = Flask(__name__)
env = jinja2.Environment(loader=jinja2.FileSystemLoader("templates"), autoescape=False)


@app.route("/profile")
def profile():
    return env.get_template("profile.html").render(bio=request.args.get("bio", ""))
