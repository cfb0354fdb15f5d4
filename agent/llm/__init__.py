"""LLM access: one client for OpenAI-compatible servers (vLLM), its call log and response cache."""
from agent.llm.adjust import adjustment_request
from agent.llm.calllog import CallLog
from agent.llm.client import LLMClient
from agent.llm.requests import ChatRequest, LLMResult, Ping

__all__ = ["CallLog", "ChatRequest", "LLMClient", "LLMResult", "Ping", "adjustment_request"]
