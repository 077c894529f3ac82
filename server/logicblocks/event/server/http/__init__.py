"""The HTTP face of the server: a JSON API and the browser console, beside gRPC.

``endpoint`` is the listener; ``routes`` and ``sse`` the API's handlers; ``json_in`` and
``json_out`` its JSON; ``errors`` its error answers; ``access`` its tokens. The console's
static files are in ``console/``. docs/http.md describes the API.
"""
