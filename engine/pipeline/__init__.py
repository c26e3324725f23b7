"""The event pipeline, in the order an event travels through it.

ingest (validate, store, commit) -> publish (evaluate_events messages on the queue) -> tasks (the
worker's Celery tasks) -> decide (load stored events, evaluate, save decisions and alerts).
celery_app holds the Celery app and its configuration; queues the names and sizes they share;
sweeper re-queues stored events left undecided; replay_tasks runs replays requested on the web.
broker, transport, worker and runner start and reach the processes around them.
"""
