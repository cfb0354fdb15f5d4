"""LLM access: one client for OpenAI-compatible servers (vLLM), its call log and response cache."""
from trendcast.agent.llm.calllog import CallLog
from trendcast.agent.llm.client import LLMClient
from trendcast.agent.llm.requests import ChatRequest, LLMResult, Ping

__all__ = ["CallLog", "ChatRequest", "LLMClient", "LLMResult", "Ping"]
