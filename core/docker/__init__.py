"""Docker Engine plumbing shared by the Docker targets and the image builder.

deck's own Engine API client, from the bottom up: ``wire`` (HTTP/1.1 on one connection),
``dial`` (addresses, TLS, idle connections kept), ``attach`` (attach/exec streams),
``session`` (requests, ``EngineError``), ``images`` and ``containers`` (the calls deck makes),
``client`` (``EngineClient``); ``engine`` translates its failures into ``core.errors``.
"""
