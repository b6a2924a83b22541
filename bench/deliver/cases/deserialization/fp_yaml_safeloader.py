# expect: CWE-502 safe
import sys
import yaml


def main() -> None:
    with open(sys.argv[1]) as fh:
        config = yaml.load(fh, Loader=yaml.SafeLoader)
    print(config)
