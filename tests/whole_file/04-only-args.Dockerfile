# syntax=docker/dockerfile:1
ARG BASE=debian:12
ARG VERSION=1.0
