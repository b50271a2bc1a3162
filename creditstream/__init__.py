"""creditstream: public credit information (公共信用信息) as a stream."""
