"""Run one of llama.cpp's converter scripts with fimkit's metadata added to the GGUF it writes.

A standalone script, not a fimkit module: it runs in a child process whose ``PYTHONPATH`` puts the
gguf-py of the converter's own llama.cpp sources first, and imports nothing of fimkit. The keys come as
JSON in ``FIMKIT_GGUF_METADATA`` ({key: [type, value]}, type a GGUFWriter ``add_<type>`` method) and are
added to each file just before its header is written, so the converter itself runs unchanged.

    python gguf_child.py CONVERTER.py ARGS...
"""

import json
import os
import runpy
import sys

import gguf

_EXTRA = json.loads(os.environ.get("FIMKIT_GGUF_METADATA") or "{}")
_write_header = gguf.GGUFWriter.write_header_to_file


def _with_metadata(self, *args, **kwargs):
    for key, (kind, value) in _EXTRA.items():
        getattr(self, f"add_{kind}")(key, value)
    return _write_header(self, *args, **kwargs)


gguf.GGUFWriter.write_header_to_file = _with_metadata
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
