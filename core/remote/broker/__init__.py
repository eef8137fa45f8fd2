"""The link process ("broker"): one SSH connection per host shared by every deck process.

``client`` is what deck processes use (no asyncssh import); ``server`` is the link process
itself; ``wire`` is the small framing both speak; ``rundir`` is where their sockets live.
"""
