"""Locust's fastest user class hitting /ping as fast as it can."""
from locust import FastHttpUser, constant, task


class Ping(FastHttpUser):
    wait_time = constant(0)

    @task
    def ping(self):
        self.client.get("/ping")
