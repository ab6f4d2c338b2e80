-- Dagster keeps its run storage in a database of its own on the same server.
create database dagster owner memefeed;
