# syntax=r2d4/mocker
apiVersion: v1alpha
images:
- name: demo
  from: debian:12
