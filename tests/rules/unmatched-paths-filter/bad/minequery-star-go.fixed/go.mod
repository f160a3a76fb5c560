module example.com/mq
