FROM debian:12
# A typo Docker rejects: "unknown instruction: COPPY".
COPPY app.sh /usr/local/bin/
ADD app.sh /usr/local/bin/
