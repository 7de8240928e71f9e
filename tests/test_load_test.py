"""scripts/load_test.py's counting: every session cut off at the deadline is an error of its own."""
import importlib.util

from conftest import ROOT

spec = importlib.util.spec_from_file_location("load_test", ROOT / "scripts" / "load_test.py")
load_test = importlib.util.module_from_spec(spec)
spec.loader.exec_module(load_test)


def test_twenty_unfinished_sessions_are_twenty_errors():
    """20 sessions still running at a 60 s deadline: 20 errors (the script once counted them as 1)."""
    errors = load_test.unfinished(20, 60.0)
    assert len(errors) == 20 and errors[0] == "a session still running at the 60 s deadline"
    assert load_test.unfinished(0, 60.0) == []
