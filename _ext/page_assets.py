"""A Sphinx extension of this book: each page lists every script once.

sphinx-thebe registers its inline configuration script again each time the environment reads sources,
and a page that declares ``const THEBE_JS_URL`` twice logs an error in the browser. This drops repeats
(same file, or same inline body, whatever their priorities;
an inline script's file is None or "") from each page's script list before the page is written.
"""


def drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    seen, kept = set(), []
    for script in context.get("script_files", []):
        key = (str(getattr(script, "filename", None) or ""), getattr(script, "attributes", {}).get("body", ""))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"][:] = kept


def setup(app):
    # Late, after the extensions that add their scripts while the page is rendered.
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
