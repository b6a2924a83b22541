# expect: CWE-79 safe
import jinja2
from flask import Flask, request

app = Flask(__name__)
env = jinja2.Environment(loader=jinja2.FileSystemLoader("templates"), autoescape=jinja2.select_autoescape())


@app.route("/profile")
def profile():
    return env.get_template("profile.html").render(bio=request.args.get("bio", ""))
