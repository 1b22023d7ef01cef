"""agentkit's Assistant embedded in a small async app: a local tool, streaming, and the sync wrapper.

Run against your Qwen3 server:  AGENTKIT_ENDPOINT=http://127.0.0.1:8000/v1 python examples/assistant_app/app.py
Without a GPU, start the simulator first (it replays replay.yaml; no model runs):
  python -m agentkit.testing.simulator --script examples/assistant_app/replay.yaml --port 8000
"""

import asyncio
import os

from agentkit import Assistant, tool

INVENTORY = {"apples": 12, "pears": 0, "plums": 7}


@tool
def stock(item: str) -> str:
    """How many of an item are in stock.

    Args:
        item: the product name, e.g. apples
    """
    count = INVENTORY.get(item.lower())
    return f"{item}: unknown product" if count is None else f"{item}: {count} in stock"


async def main() -> None:
    llm = {
        "model": "Qwen/Qwen3-8B",
        "model_server": os.environ.get("AGENTKIT_ENDPOINT", "http://127.0.0.1:8000/v1"),
    }
    async with Assistant(llm=llm, function_list=[stock], system_message="You run a small fruit shop.") as bot:
        question = [{"role": "user", "content": "Do we have pears and plums?"}]
        latest, shown = -1, 0
        async for responses in bot.arun(question):  # the growing list of response messages
            if len(responses) - 1 != latest:  # a new message started
                latest, shown = len(responses) - 1, 0
                print()
            text = responses["content"] or ""  # string keys read the latest message
            print(text[shown:], end="", flush=True)
            shown = len(text)
        print()
        for message in responses:
            if message.get("function_call"):
                print(
                    f"  (called {message['function_call']['name']} {message['function_call']['arguments']})"
                )


if __name__ == "__main__":
    asyncio.run(main())
