ENGINE = 'titan'
