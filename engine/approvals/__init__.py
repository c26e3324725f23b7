"""Routing of four-eyes approvals (issue 14): a request goes to a named senior officer or to the
pool of seniors; an away senior's requests, and requests left unanswered too long, fall back to
the pool (audited). ``tables`` holds the routes and who is away, ``routing`` the rules.
"""
