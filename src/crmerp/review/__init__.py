"""The review page: conflicts, match reviews and quarantine, settled in a browser.

The people who know whether "Müller GmbH" and "Mueller KG" are one customer work
in sales and the back office, not in a terminal. :func:`review_app` is an ASGI
application (`Starlette <https://www.starlette.io>`_, pages rendered on the
server with Jinja2, no JavaScript, no build step) that lists what waits for a
person, shows each item with both systems' values and the matcher's evidence, and
applies a decision as :meth:`~crmerp.sync.SyncEngine.resolve` and
:meth:`~crmerp.sync.SyncEngine.retry_quarantined` do: the next sync writes it.
Every decision goes into the audit trail with the name of the person who made it.

``crmerp serve`` runs it with uvicorn; a company can mount it in its own ASGI
service instead::

    from crmerp.review import review_app

    app = review_app(open_engine, token=os.environ["CRMERP_REVIEW_TOKEN"])

It needs the ``review`` extra: ``pip install 'crmerp[review]'``.
"""

from crmerp.review._app import review_app

__all__ = ["review_app"]
