# expect: CWE-798 vulnerable
from flask import Flask

app = Flask(__name__)
app.config["SECRET_KEY"] = "f3c9a1d27b8e4c6a9d0e1f2a3b4c5d6e"
