"""Small Sphinx fixes for the course book (loaded through ``sphinx.local_extensions`` in ``_config.yml``).

* The light/dark mode gets an explicit default. Without one, pydata-sphinx-theme logs
  "Got invalid theme mode" to the browser console on every page.
* Each page's ``<script>`` tags are de-duplicated. Jupyter Book 1 with sphinx-thebe 0.3 registers thebe's
  configuration twice, so the browser raises "Identifier 'THEBE_JS_URL' has already been declared".
"""
from __future__ import annotations


def _page_fixes(app, pagename, templatename, context, doctree):
    if not context.get("default_mode"):
        context["default_mode"] = "light"
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        # the same inline script is registered once with filename None and once with ""
        key = (getattr(js, "filename", js) or "", repr(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _page_fixes, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
