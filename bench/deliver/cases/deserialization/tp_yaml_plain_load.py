# expect: CWE-502 vulnerable
import sys
import yaml


def main() -> None:
    with open(sys.argv[1]) as fh:
        config = yaml.load(fh)
    print(config)
