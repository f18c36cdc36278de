"""Matching records that share no key across the CRM and the ERP."""

from crmerp.match._protocol import ExactKeyMatcher, MatchDecisions, Matcher, ReviewItem

__all__ = ["ExactKeyMatcher", "MatchDecisions", "Matcher", "ReviewItem"]
