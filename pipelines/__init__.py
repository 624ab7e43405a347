"""Item pipelines, one step each: body rules, (images,) post files."""
