"""The one test harness: fakes, labs, waiting and runners every test module shares.

Test modules import from here (``from helpers.waiting import wait_until``), never from one
another, so a test module can change without breaking a stranger's.
"""
