# `python3 -m unittest` in sdk/python imports the tests as the package
# "tests"; `python3 -m unittest discover -s sdk/python/tests` imports them
# as top-level modules. Either way they import aries_live by that name.
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)
