terraform import signalcraft_api_key.ci ci/key_0123456789abcdef  # the key itself is not imported
