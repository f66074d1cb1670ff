"""Where state lives: tasks, balances and deliveries (memory or SQLite), journals, uploads."""

from mock_server.sim.task import Task
from mock_server.store.base import DeliveryLog, JournalEntry, TaskStore
from mock_server.store.memory import MemoryTaskStore
from mock_server.store.sqlite import SqliteTaskStore

__all__ = ["DeliveryLog", "JournalEntry", "MemoryTaskStore", "SqliteTaskStore", "Task", "TaskStore"]
