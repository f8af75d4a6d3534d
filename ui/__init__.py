"""The pages of the gpskb Streamlit app (app.py is the router). Layout only: every decision comes from gpskb."""
