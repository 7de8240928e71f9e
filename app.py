"""LMF compression studio: `streamlit run app.py` (reads $LMF_ARTIFACTS_DIR, default ./artifacts).

The router: page setup, the dataset/model selection in the sidebar (shared by every page, kept in
the URL's ?dataset=&model= so a reload keeps it), and st.navigation over the thin page files in
studio/pages/; a URL that names no page says so, with links to the pages, instead of silently
showing the home page. Logic lives in the lmf package, Streamlit glue in studio/ui.py.
"""
from pathlib import Path

import streamlit as st

from studio import ui

PAGES_DIR = Path(__file__).resolve().parent / "studio" / "pages"

st.set_page_config(page_title="LMF compression studio", page_icon=":material/compress:", layout="wide")

# url_path spelled out: a link or a fresh browser tab opened at /playground lands here, in the
# router, which draws the sidebar's selectors before running the page.
PAGES = [
    st.Page(PAGES_DIR / "home.py", title="Choose a model", icon=":material/tune:", default=True),
    st.Page(PAGES_DIR / "retrain.py", title="Retrain live", icon=":material/monitoring:", url_path="retrain"),
    st.Page(PAGES_DIR / "schedules.py", title="Learning-rate schedules", icon=":material/show_chart:",
            url_path="schedules"),
    st.Page(PAGES_DIR / "playground.py", title="Playground", icon=":material/chat:", url_path="playground"),
    st.Page(PAGES_DIR / "analysis.py", title="Analysis (section 4)", icon=":material/calculate:", url_path="analysis"),
    st.Page(PAGES_DIR / "your_data.py", title="Your data", icon=":material/upload_file:", url_path="your-data"),
]
page = st.navigation(PAGES)

with st.sidebar:
    st.markdown("### LMF compression studio")
    st.caption("Online low-rank factorization of the embedding layer (LMF) against 8/16-bit quantization.")
    ui.choose_dataset_model(ui.cached_results_quiet())

missing = ui.missing_page(PAGES)
if missing:
    st.title("No such page")
    st.error(f"There is no page at `/{missing[:80]}`. Check the address, or open one of the studio's pages:",
             icon=":material/link_off:")
    for each in PAGES:
        st.page_link(each)
    st.stop()

page.run()
