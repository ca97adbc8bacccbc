"""CodeDeploy's traffic hooks of alias ``live``: the new Query Lambda version, end to end."""
