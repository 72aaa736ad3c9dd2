"""What a prompt shows besides the cursor's own file: the budget that fits prefix, suffix and chunks
into the window (``budget``) and repository context (``repository``: the chunks chosen for a cursor,
from the ``workspace`` index and the ``outline`` of each file)."""
