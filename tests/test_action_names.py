"""Every custody action the code records has a human name for the audit log and histories."""
import re
from pathlib import Path

import biobank
from biobank.core.display import ACTIONS, display

# custody.record(actor, "sample.moved", "sample", ...) and (actor, "sample.corrected", "sample", ...) tuples
RECORDED = re.compile(r"[\w.]+,\s*\"([a-z]+\.[a-z_]+)\",\s*\"[a-z_]+\",")


def test_every_recorded_action_reads_as_words():
    source = Path(biobank.__file__).parent
    found = {m.group(1) for path in source.rglob("*.py") for m in RECORDED.finditer(path.read_text())}
    assert {"sample.moved", "alarm.opened", "sample.corrected"} <= found   # the scan itself works
    unnamed = sorted(a for a in found if a not in ACTIONS)
    assert not unnamed, f"custody actions without a human name in core/display.py: {unnamed}"
    assert display("sample.moved_with_container", "action") == "Moved with its box"
