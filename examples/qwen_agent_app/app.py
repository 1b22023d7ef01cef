"""The founding document's Qwen-Agent app, switched to agentkit by changing its import alone.

Before:  from qwen_agent.agents import Assistant
After:   from agentkit import Assistant

It talks to the Qwen3 server at http://localhost:8000/v1 (vLLM, or `python -m agentkit serve ...`).
To try it without a GPU: `python -m agentkit.testing.simulator --script examples/qwen_agent_app/replay.yaml --port 8000`
in another terminal, then `python examples/qwen_agent_app/app.py`.
"""

from agentkit import Assistant

llm_cfg = {'model': 'Qwen3-30B-A3B', 'model_server': 'http://localhost:8000/v1', 'api_key': 'EMPTY'}
tools = [{'name': 'web_search', 'description': '实时网络搜索'}]
bot = Assistant(llm=llm_cfg, function_list=tools)
messages = [{'role': 'user', 'content': '2025年全球AI趋势分析'}]
for response in bot.run(messages):
    print(response['content'])
