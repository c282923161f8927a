FROM debian:%%SUITE%%

ENV APP_VERSION %%APP_VERSION%%
ADD app.sh /usr/local/bin/
CMD ["app.sh"]
